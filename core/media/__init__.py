"""Task media: images and video, frames, chunks and previews."""
