# Ablation row 3 at the demo scale (+CTI): cross-task interaction with
# learned task tokens only (no image-conditioned term), no AFU.
_base_ = ['../allnet_r18-w32_1xb8-500_synthscenes-96x128.py']
model = dict(
    decode_head=dict(use_cti=True, use_afu=False, use_image_tokens=False))
