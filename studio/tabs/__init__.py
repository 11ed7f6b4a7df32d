"""One module per tab of the studio's page; each ``build(studio)`` lays out its tab and wires its events."""
