"""Language-model utilities the chapters share (the character-level LM of Part II)."""
