"""Files for other tools: a model folder others can load (safetensors weights and a Hugging Face
model card), and TensorBoard event files of a training run."""
