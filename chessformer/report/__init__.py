"""Reports: one joint rating fit over a run's evaluations, rendered as a self-contained
report.html and a report.md beside their plots, with the verdict at the temperature each grid
fixed in advance (``report`` builds the sections, ``verdict`` decides, ``plots`` draws, ``document``
writes Markdown/HTML, ``ranges`` says which grid a model outside its opponents' range needs)."""
