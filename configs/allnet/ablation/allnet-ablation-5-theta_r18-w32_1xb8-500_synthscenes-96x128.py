# Ablation row 5 at the demo scale (+theta_t): the full demo ALLNet, task
# tokens with the image-conditioned term (the same model as
# allnet_r18-w32_1xb8-500_synthscenes-96x128.py).
_base_ = ['../allnet_r18-w32_1xb8-500_synthscenes-96x128.py']
model = dict(
    decode_head=dict(use_cti=True, use_afu=True, use_image_tokens=True))
