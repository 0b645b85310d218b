"""Projects (syncrules.toml), fixture directories and the simulated directories behind them."""
