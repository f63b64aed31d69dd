"""Read-side queries, by what they read: ``sales`` (the dashboard's and the API's sales
figures, from the aggregate tables), ``periods`` (the calendar those figures are cut into)
and ``batches`` (loads as every view presents them)."""
