"""Helpers the window layers are given: im2col and col2im turn convolution into one matrix product."""
import numpy as np


def im2col(input_data, filter_h, filter_w, stride=1, pad=0):
    """Unfold every filter window of ``input_data`` (N, C, H, W) into one row.

    Returns an array of shape (N * out_h * out_w, C * filter_h * filter_w): row
    ``(n, i, j)`` holds the window whose top-left corner is at ``(i * stride, j * stride)``
    of the zero-padded image ``n``, channel by channel.
    """
    N, C, H, W = input_data.shape
    out_h = (H + 2 * pad - filter_h) // stride + 1
    out_w = (W + 2 * pad - filter_w) // stride + 1
    img = np.pad(input_data, [(0, 0), (0, 0), (pad, pad), (pad, pad)], "constant")
    col = np.zeros((N, C, filter_h, filter_w, out_h, out_w))
    for y in range(filter_h):
        y_max = y + stride * out_h
        for x in range(filter_w):
            x_max = x + stride * out_w
            col[:, :, y, x, :, :] = img[:, :, y:y_max:stride, x:x_max:stride]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(N * out_h * out_w, -1)


def col2im(col, input_shape, filter_h, filter_w, stride=1, pad=0):
    """The adjoint of im2col: fold rows back into an image of ``input_shape`` (N, C, H, W).

    Where windows overlap (stride smaller than the filter), the values of every window that
    covers a pixel are *added* (``+=``): each window used that pixel, so each contributes
    to its gradient. The padding is cut off at the end.
    """
    N, C, H, W = input_shape
    out_h = (H + 2 * pad - filter_h) // stride + 1
    out_w = (W + 2 * pad - filter_w) // stride + 1
    col = col.reshape(N, out_h, out_w, C, filter_h, filter_w).transpose(0, 3, 4, 5, 1, 2)
    img = np.zeros((N, C, H + 2 * pad + stride - 1, W + 2 * pad + stride - 1))
    for y in range(filter_h):
        y_max = y + stride * out_h
        for x in range(filter_w):
            x_max = x + stride * out_w
            img[:, :, y:y_max:stride, x:x_max:stride] += col[:, :, y, x, :, :]
    return img[:, :, pad:H + pad, pad:W + pad]
