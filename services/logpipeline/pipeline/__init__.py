"""The whole pipeline on the local stack: what ``logpipeline up`` starts, in which order, and how it stops."""
