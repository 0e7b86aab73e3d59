"""The public grading tests that ``dlcourse.check`` runs (written by ``dlcourse release``)."""
