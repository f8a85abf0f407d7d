# Convenience wrappers: the same as `python3 tasks.py <target>` (which needs no make).
PYTHON ?= python3
.PHONY: lab test setup execute bench lock site
lab test setup execute bench lock site:
	$(PYTHON) tasks.py $@ $(ARGS)
