"""The notifier: job status topics in, Apprise notifications out. It knows nothing else."""
