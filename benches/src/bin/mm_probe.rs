//! scratch probe
use burn::tensor::{Device, Distribution, Tensor};
use std::time::Instant;

fn time(mut f: impl FnMut()) -> f64 {
    f();
    f();
    let mut v = Vec::new();
    for _ in 0..30 {
        let t = Instant::now();
        f();
        v.push(t.elapsed().as_secs_f64() * 1e3);
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    nflow_bench::under_peer_allocator().unwrap();
    let dev = Device::flex();
    for &(m, k, n) in &[
        (1024usize, 512usize, 512usize),
        (1024, 63, 512),
        (1024, 512, 126),
        (256, 512, 512),
        (1024, 256, 256),
    ] {
        let x: Tensor<2> = Tensor::random([m, k], Distribution::Normal(0.0, 1.0), &dev);
        let w: Tensor<2> = Tensor::random([k, n], Distribution::Normal(0.0, 1.0), &dev);
        let plain = time(|| {
            let _ = x.clone().matmul(w.clone()).into_data();
        });
        let mut row = format!("{m}x{k}x{n}: plain {plain:.3}");
        for chunks in [2usize, 4, 8] {
            let t = time(|| {
                let _ = x
                    .clone()
                    .reshape([chunks, m / chunks, k])
                    .matmul(w.clone().unsqueeze::<3>())
                    .reshape([m, n])
                    .into_data();
            });
            row += &format!(" | batched{chunks} {t:.3}");
        }
        // autodiff fwd+bwd
        let ad = dev.clone().autodiff();
        let xa: Tensor<2> = Tensor::random([m, k], Distribution::Normal(0.0, 1.0), &ad);
        let wa: Tensor<2> =
            Tensor::random([k, n], Distribution::Normal(0.0, 1.0), &ad).require_grad();
        let t = time(|| {
            let y = xa.clone().matmul(wa.clone());
            let g = y.sum().backward();
            let _ = wa.grad(&g).unwrap().into_data();
        });
        row += &format!(" | ad plain {t:.3}");
        let t = time(|| {
            let y = xa
                .clone()
                .reshape([4, m / 4, k])
                .matmul(wa.clone().unsqueeze::<3>())
                .reshape([m, n]);
            let g = y.sum().backward();
            let _ = wa.grad(&g).unwrap().into_data();
        });
        row += &format!(" | ad batched4 {t:.3}");
        println!("{row}");
    }
}
