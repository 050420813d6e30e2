"""Core: errors, types, the DAG helper, memos and hooks; imports nothing else of causaldsl."""
