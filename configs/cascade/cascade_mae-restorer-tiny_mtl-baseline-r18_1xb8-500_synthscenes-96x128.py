# Two-stage baseline "restore, then predict" on SynthScenes (CPU demo
# size) with the MaE restorer: the 'tiny' MaERestorer of
# configs/restorers/mae-restorer_tiny_1xb8-500_synthscenes-96x128.py
# (routed complexity experts, only the selected expert runs per image),
# frozen and loaded from its checkpoint, then the slim ResNet-18 MTL
# baseline trained from scratch on the restored training images (recipe:
# configs/cascade/README.md).
_base_ = ['./cascade_dense-restorer-tiny_mtl-baseline-r18_1xb8-500_'
          'synthscenes-96x128.py']
restorer_work_dir = 'work_dirs/mae-restorer_tiny_1xb8-500_synthscenes-96x128'
model = dict(
    restorer=dict(
        _delete_=True,
        type='ImageRestorer',
        restorer=dict(type='MaERestorer', arch='tiny', num_experts=4,
                      top_k=1),
        loss=dict(type='RestorationLoss', l1_weight=1.0, fft_weight=0.1),
        route_loss_weight=0.01),
    restorer_checkpoint=f'{restorer_work_dir}/iter_500.pth')
