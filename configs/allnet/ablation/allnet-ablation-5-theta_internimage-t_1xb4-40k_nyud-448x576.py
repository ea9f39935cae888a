# Ablation row 5 (+theta_t): the full ALLNet, task tokens with the
# image-conditioned term (same model as allnet_internimage-t_...).
_base_ = ['../allnet_internimage-t_1xb4-40k_nyud-448x576.py']
model = dict(
    decode_head=dict(use_cti=True, use_afu=True, use_image_tokens=True))
