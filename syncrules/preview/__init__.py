"""Previews: a project's rules run over fixture directories, rendered as a plan or JSON."""
