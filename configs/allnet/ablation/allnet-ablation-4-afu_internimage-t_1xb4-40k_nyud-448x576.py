# Ablation row 4 (+AFU): CTI (learned task tokens only) and the adaptive
# fusion unit.
_base_ = ['../allnet_internimage-t_1xb4-40k_nyud-448x576.py']
model = dict(
    decode_head=dict(use_cti=True, use_afu=True, use_image_tokens=False))
