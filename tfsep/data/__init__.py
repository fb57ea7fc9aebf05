"""Datasets of multitrack songs, the synthetic generator and the tf.data pipeline."""
