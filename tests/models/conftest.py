"""The pretrained-model fixtures (smollm2_file, minilm_folder, ref_llama, ref_bert) live in
tests/conftest.py, shared with tests/peft."""
