# Ablation row 4 at the demo scale (+AFU): CTI (learned task tokens only)
# and the adaptive fusion unit.
_base_ = ['../allnet_r18-w32_1xb8-500_synthscenes-96x128.py']
model = dict(
    decode_head=dict(use_cti=True, use_afu=True, use_image_tokens=False))
