# Ablation row 2 (+MaE): the MaE neck's two streams fused by SKFF,
# coarse to fine; no CTI, no AFU, no image-conditioned task tokens.
_base_ = ['../allnet_internimage-t_1xb4-40k_nyud-448x576.py']
model = dict(
    decode_head=dict(use_cti=False, use_afu=False, use_image_tokens=False))
