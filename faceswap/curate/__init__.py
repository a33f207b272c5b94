"""Curating face sets: sort, clean (never deleting), restore, pose coverage."""
