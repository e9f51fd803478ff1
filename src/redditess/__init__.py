"""redditess: reproducibility artifact of the RedditESS study of effective peer support on Reddit."""

__version__ = "0.1.0"
