"""Tests of the operator commands: make redrive, make watch, make invoke.

This folder is a package so that pytest puts tools/ (the first folder above without an
__init__.py) on the import path: the tests import `redrive` and `local_function` as modules.
"""
