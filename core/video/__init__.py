"""Shots to video: anchored image-to-video, first-and-last-keyframe clips, and the animatic.

Nothing heavy is imported here; import from the submodules (`core.video.pipeline`,
`core.video.animatic`, ...) so that using the animatic does not load diffusers.
"""
