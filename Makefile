# The two commands a newcomer needs: `make book` and `make test` (see README.md).
# Every target sets up what it needs itself, so both work from a fresh clone.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:

VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
MATHJAX := _assets/mathjax/tex-chtml.js
CHROMIUM := /usr/bin/chromium
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
JB      := AE_BOOK_BUILD=1 $(VENV)/bin/jupyter-book build . --builder html -W --keep-going

.PHONY: install book test check unit notebooks book-fresh browser student pretrain clean

## install: the virtual environment with the pinned versions, and MathJax for offline math
install: $(STAMP) $(MATHJAX)

$(STAMP): pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

# MathJax 3 from the npm registry, trimmed to what the book uses (served from the build, offline).
$(MATHJAX):
	npm install --prefix .cache/npm --no-audit --no-fund --silent mathjax@3.2.2
	rm -rf _assets/mathjax && mkdir -p _assets/mathjax/output/chtml _assets/mathjax/input/tex
	src=.cache/npm/node_modules/mathjax/es5; \
	cp $$src/tex-chtml.js _assets/mathjax/; \
	cp -r $$src/output/chtml/fonts _assets/mathjax/output/chtml/; \
	cp -r $$src/input/tex/extensions _assets/mathjax/input/tex/; \
	cp -r $$src/ui $$src/a11y _assets/mathjax/

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

## book: build the HTML book into _build/html, executing every notebook (cached between builds)
book: install
	$(JB)

## test: every test from scratch: unit and exercise tests, every notebook (nbval), the student
## release, the book build with all notebooks re-executed, and the browser check of the built book
test: install $(CHROMIUM)
	$(MAKE) --no-print-directory check book-fresh browser

# Unit tests, exercise tests, the student release and nbval over every chapter in one run, two
# workers (one per core, a whole test file each); one BLAS/torch thread per worker, as two
# processes with two threads each on two cores thrash.
check: install
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest -m "not browser" -n 2 --dist loadfile \
	    --nbval-lax --nbval-current-env tests chapters

unit: install
	$(PY) -m pytest tests -m "not browser"

notebooks: install
	$(PY) -m pytest --nbval-lax --nbval-current-env chapters

book-fresh: install
	rm -rf _build/.jupyter_cache _build/.doctrees _build/html
	$(JB)

browser: install $(CHROMIUM)
	$(PY) -m pytest tests -m browser

## student: student notebooks (solutions replaced by stubs) into student/; never overwrites your edits
student: install
	$(PY) tools/make_student.py chapters student

## pretrain: retrain the learned image codecs of the compression chapter into data/ (about 30 min)
pretrain: install
	$(PY) scripts/pretrain_codec.py

clean:
	rm -rf _build student .pytest_cache
