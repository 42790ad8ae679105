"""See a run: the live dashboard (`app`), the one-file report (`report`), and the read-only
view of a run's store both use (`data`). Only `app` needs the web extra."""
