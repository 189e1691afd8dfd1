"""Tests of the operator commands: make redrive, make watch, make invoke."""
