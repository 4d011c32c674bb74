"""Counts the words of a text file: `count_words.py IN OUT` writes `word<TAB>count` lines, most common first."""
import collections
import sys

words = open(sys.argv[1], encoding="utf-8").read().split()
with open(sys.argv[2], "w", encoding="utf-8") as out:
    for word, n in sorted(collections.Counter(words).items(), key=lambda kv: (-kv[1], kv[0])):
        out.write(f"{word}\t{n}\n")
