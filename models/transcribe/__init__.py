"""Piano transcription: audio in, notes with onset, offset and velocity out."""
