import numpy as np
import tensorflow as tf

import fedexp
from fedexp.templates import cohort


def test_broadcast_sends_the_weights_to_every_client_of_the_cohort():
    process = fedexp.build_broadcast_process((tf.TensorSpec([3]), tf.TensorSpec([], tf.int64)))
    assert process.next_fn.type_signature == (
        "(<<>,<float32[3],int64>@SERVER> -> <state=<>,result=<float32[?,3],int64[?]>@CLIENTS,measurements=<bytes_sent=float32>@SERVER>)")

    @tf.function
    def in_a_round_of(n):
        with cohort(n):
            out = process.next_fn.fn((), (tf.constant([1.0, 2.0, 3.0]), tf.constant(4, tf.int64)))
            return out.result, out.measurements["bytes_sent"]

    (values, counts), sent = in_a_round_of(tf.constant(4))
    assert float(sent) == 4 * (3 * 4 + 8)
    np.testing.assert_array_equal(values, np.tile([1.0, 2.0, 3.0], (4, 1)))
    np.testing.assert_array_equal(counts, [4, 4, 4, 4])
