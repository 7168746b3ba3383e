"""The screens. Each gets its dependencies (a :class:`ui.context.UiContext`) through its
constructor; those that show PHI implement ``clear_phi()`` (called the moment the session
locks)."""
