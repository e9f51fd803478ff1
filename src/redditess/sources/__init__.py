"""Where raw Reddit records come from: the demo simulator, dump files, or the live API."""
