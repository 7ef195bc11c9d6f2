"""A GPT of 0.8M parameters pretrained from scratch on tiny Shakespeare, nanoGPT's
shakespeare_char recipe scaled to this 2-core CPU; target: validation loss ≤ 1.60 nats per
character within 30 minutes, and a generated sample.

gradkit.models.GPT (nanoGPT's architecture and names): 4 layers, 4 heads, width 128, context
128 characters, learned positions, the head tied to the token embedding, no dropout (a model
this small does not overfit in 5,000 steps; with dropout 0.1 and 3,000 steps it reached 1.665).
nanoGPT's optimizer: AdamW (betas 0.9/0.99, weight decay 0.1) at lr 2e-3, a small model's rate,
linear warm-up over 100 steps, cosine decay to a tenth, gradients clipped to norm 1; 5,000 steps
of 32 random windows; validation loss over the whole validation split in windows of 128. (nanoGPT's own CPU setting, 4x4x128
with context 64, batch 12 and 2,000 steps, reaches about 1.88.)

    python examples/shakespeare_gpt.py [--peer torch]
Needs: tiny Shakespeare in $GRADKIT_DATA/tinyshakespeare (shared/data).
"""
import reproduce

BUDGET, STEPS, BATCH, SEQ, TARGET = 30, 5000, 32, 128, 1.60
LAYERS, HEADS, WIDTH, DROPOUT = 4, 4, 128, 0.0


def make(fw, vocab_size):
    from gradkit.models import GPT

    def torch_twin():
        nn, F = fw.nn, fw.F

        class Attention(nn.Module):
            def __init__(self):
                super().__init__()
                self.c_attn = nn.Linear(WIDTH, 3 * WIDTH)
                self.c_proj = nn.Linear(WIDTH, WIDTH)
                self.resid_dropout = nn.Dropout(DROPOUT)

            def forward(self, x):
                B, T, C = x.shape
                q, k, v = self.c_attn(x).split(C, dim=2)
                q, k, v = (t.view(B, T, HEADS, C // HEADS).transpose(1, 2) for t in (q, k, v))
                y = F.scaled_dot_product_attention(
                    q, k, v, is_causal=True, dropout_p=DROPOUT if self.training else 0.0)
                return self.resid_dropout(self.c_proj(y.transpose(1, 2).reshape(B, T, C)))

        class MLP(nn.Module):
            def __init__(self):
                super().__init__()
                self.c_fc = nn.Linear(WIDTH, 4 * WIDTH)
                self.gelu = nn.GELU()
                self.c_proj = nn.Linear(4 * WIDTH, WIDTH)
                self.dropout = nn.Dropout(DROPOUT)

            def forward(self, x):
                return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))

        class Block(nn.Module):
            def __init__(self):
                super().__init__()
                self.ln_1, self.attn = nn.LayerNorm(WIDTH), Attention()
                self.ln_2, self.mlp = nn.LayerNorm(WIDTH), MLP()

            def forward(self, x):
                x = x + self.attn(self.ln_1(x))
                return x + self.mlp(self.ln_2(x))

        class TwinGPT(nn.Module):
            def __init__(self):
                super().__init__()
                self.transformer = nn.ModuleDict(dict(
                    wte=nn.Embedding(vocab_size, WIDTH), wpe=nn.Embedding(SEQ, WIDTH),
                    drop=nn.Dropout(DROPOUT), h=nn.ModuleList([Block() for _ in range(LAYERS)]),
                    ln_f=nn.LayerNorm(WIDTH)))
                self.lm_head = nn.Linear(WIDTH, vocab_size, bias=False)
                self.lm_head.weight = self.transformer.wte.weight

            def forward(self, idx):
                t = self.transformer
                pos = fw.torch.arange(idx.shape[1])
                h = t.drop(t.wte(idx) + t.wpe(pos))
                for block in t.h:
                    h = block(h)
                return self.lm_head(t.ln_f(h))
        return TwinGPT()

    return reproduce.build(fw, ARGS.seed, lambda: GPT(vocab_size, SEQ, LAYERS, HEADS, WIDTH,
                                                      DROPOUT), torch_twin)


def optimizer(fw, model):
    """nanoGPT's AdamW (at twice its baby GPT's rate): weight decay on every 2-D parameter (the matrices and the embeddings),
    none on biases and LayerNorms."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    return fw.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                           {"params": rest, "weight_decay": 0.0}], lr=2e-3, betas=(0.9, 0.99))


if __name__ == "__main__":
    ARGS = reproduce.parser(__doc__, BUDGET, None, steps=STEPS).parse_args()
    reproduce.main_language_model(
        ARGS, "GPT pretrained from scratch on tiny Shakespeare", "shakespeare_gpt", make,
        optimizer=optimizer, target=TARGET, budget_min=ARGS.budget_min, batch_size=BATCH,
        seq_len=SEQ, published="the issue's ≤ 1.60 nats/char; nanoGPT's shakespeare_char "
        "(6 layers of 384, 10.7M parameters, on a GPU) reaches 1.47", eval_every=500)
