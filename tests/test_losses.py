import torch

from nets.losses import content_loss, gram_matrix, style_loss, total_variation


def test_gram_matches_naive_loop():
    torch.manual_seed(0)
    f = torch.randn(2, 5, 4, 3)
    b, c, h, w = f.shape
    naive = torch.zeros(b, c, c)
    for n in range(b):
        for i in range(c):
            for j in range(c):
                naive[n, i, j] = sum(f[n, i, y, x] * f[n, j, y, x] for y in range(h) for x in range(w)) / (c * h * w)
    torch.testing.assert_close(gram_matrix(f), naive, rtol=1e-5, atol=1e-6)


def test_losses_vanish_on_their_targets_and_are_scale_free():
    torch.manual_seed(0)
    f, g = torch.rand(2, 8, 6, 6), torch.rand(2, 8, 6, 6)
    assert content_loss(f, f).abs().max() < 1e-7
    assert style_loss(f, gram_matrix(f)).abs().max() < 1e-7
    # Normalised by the target's magnitude: scaling both features leaves the loss unchanged.
    torch.testing.assert_close(content_loss(10 * f, 10 * g), content_loss(f, g))
    torch.testing.assert_close(style_loss(10 * f, gram_matrix(10 * g)), style_loss(f, gram_matrix(g)))
    assert (content_loss(f, g) > 0).all() and (style_loss(f, gram_matrix(g)) > 0).all()


def test_total_variation():
    flat = torch.full((1, 3, 8, 8), 0.5)
    assert total_variation(flat).item() == 0
    stripes = torch.zeros(1, 3, 8, 8)
    stripes[..., ::2] = 1
    torch.testing.assert_close(total_variation(stripes), torch.tensor([1.0]))
