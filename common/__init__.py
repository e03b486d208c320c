"""baaskit: a consortium blockchain toolkit (PBFT + LevelDB + notarization + remittance)."""

__version__ = "0.1.0"
