"""PySide6 screens, view models, the task runner, the composition root and the command line."""
