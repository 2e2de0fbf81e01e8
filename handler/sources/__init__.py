"""One module per event source; each recognises its own raw events and parses them."""
