"""Components built from their config sections: the only place that knows every package."""
