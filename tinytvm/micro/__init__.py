"""Microcontroller targets, boards, runners and project generators."""
