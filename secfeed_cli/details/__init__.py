"""What a filing says, from EDGAR: insider trades (Forms 3, 4, 5) and 8-K items, parsed from
SEC's documents (``ownership.py``, ``eightk.py``, their header ``sgml.py``). Pure: bytes in,
the ``details`` object out; fetching them is the EDGAR client's."""
