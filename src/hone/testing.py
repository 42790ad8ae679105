"""Test doubles shipped with hone: models whose answers you choose."""

from hone.models.scripted import FunctionModel, ScriptedModel

__all__ = ["FunctionModel", "ScriptedModel"]
