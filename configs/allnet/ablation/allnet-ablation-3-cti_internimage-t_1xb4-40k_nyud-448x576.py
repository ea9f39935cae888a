# Ablation row 3 (+CTI): cross-task interaction with learned task tokens
# only (no image-conditioned term), no AFU.
_base_ = ['../allnet_internimage-t_1xb4-40k_nyud-448x576.py']
model = dict(
    decode_head=dict(use_cti=True, use_afu=False, use_image_tokens=False))
