"""Generated corpora of good and bad artifacts for the rubric detection benchmark."""
