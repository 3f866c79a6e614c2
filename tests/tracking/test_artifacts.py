import csv

from fedexp.tracking._artifacts import write_data_record
from tests.data.test_summary import split


def test_the_csv_has_every_client_and_the_heatmap_is_a_png(tmp_path):
    csv_path, png_path = write_data_record(split(), tmp_path, seed=0)
    rows = list(csv.reader(open(csv_path)))
    assert rows == [["client", "examples", "label_0", "label_1", "label_2"],
                    ["0", "3", "2", "1", "0"], ["1", "1", "0", "0", "1"], ["2", "4", "0", "4", "0"]]
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
