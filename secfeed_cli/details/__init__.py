"""What a filing says, from EDGAR: insider trades (Forms 3, 4, 5), 8-K items and Schedules
13D/G, parsed from SEC's documents (``ownership.py``, ``eightk.py``, ``schedule13.py``, their
header ``sgml.py``: pure, bytes in, the ``details`` object out); fetched by the EDGAR client
(``edgar.py``) for the run's details stage (``stage.py``)."""
