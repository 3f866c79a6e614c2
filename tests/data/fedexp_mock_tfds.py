"""Run as a script: the `fedexp` command (its Hydra entry point, with the arguments given) with
TFDS answering from `tfds.testing.mock_data`: random examples of the dataset's real features."""

import tensorflow_datasets as tfds

from fedexp.runner.cli import main

if __name__ == "__main__":
    with tfds.testing.mock_data(num_examples=120):
        main()
