"""The sizes of the tiny models the LoRA tests build in gradkit and in transformers."""
TINY_LLAMA = dict(vocab_size=64, hidden_size=16, intermediate_size=24, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)
TINY_BERT = dict(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=4,
                 intermediate_size=32, max_position_embeddings=32)
