# Ablation row 2 at the demo scale (+MaE): the demo ALLNet's MaE neck, its
# two streams fused by SKFF coarse to fine; no CTI, no AFU, no
# image-conditioned task tokens.
_base_ = ['../allnet_r18-w32_1xb8-500_synthscenes-96x128.py']
model = dict(
    decode_head=dict(use_cti=False, use_afu=False, use_image_tokens=False))
